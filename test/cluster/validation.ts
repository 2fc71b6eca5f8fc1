// Structural-schema validation of custom resources, as apiextensions-apiserver
// reports it: wrong types, values outside an enum, missing required fields.
import { crdVersion, type RegisteredType } from './registry.ts';
import type { JsonSchema } from './schema.ts';
import type { StatusCause } from './status.ts';
import type { KubeObject } from './types.ts';

export function validateCustomResource(type: RegisteredType, object: KubeObject): StatusCause[] {
  const version = object.apiVersion.split('/').pop() ?? '';
  const schema = crdVersion(type, version)?.schema?.openAPIV3Schema;
  if (!schema) return [];
  const causes: StatusCause[] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (key === 'metadata' || key === 'apiVersion' || key === 'kind') continue;
    if (object[key] !== undefined) validate(object[key], child, key, causes);
    else if (schema.required?.includes(key)) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: key });
  }
  return causes;
}

function validate(value: unknown, schema: JsonSchema, path: string, causes: StatusCause[]): void {
  if (value === null) return;
  const typeError = checkType(value, schema);
  if (typeError) {
    causes.push({ reason: 'FieldValueTypeInvalid', message: `Invalid value: "${jsonType(value)}": ${path} in body must be of type ${typeError}: ${JSON.stringify(jsonType(value))}`, field: path });
    return;
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`, field: path });
  }
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => validate(item, schema.items!, `${path}[${i}]`, causes));
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const required of schema.required ?? []) {
      if (record[required] === undefined) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${path}.${required}` });
    }
    for (const [key, child] of Object.entries(record)) {
      const childSchema = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (childSchema && child !== undefined) validate(child, childSchema, `${path}.${key}`, causes);
    }
  }
}

/** The expected type when `value` does not have it. */
function checkType(value: unknown, schema: JsonSchema): string | undefined {
  if (schema['x-kubernetes-int-or-string']) return typeof value === 'string' || Number.isInteger(value) ? undefined : 'integer,string';
  const expected = schema.type;
  if (!expected) return undefined;
  const actual = jsonType(value);
  if (expected === actual || (expected === 'number' && actual === 'integer')) return undefined;
  return expected;
}

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value === 'number' ? 'number' : typeof value === 'object' ? 'object' : typeof value;
}
