// meta.k8s.io/v1 Tables, what kube-apiserver returns when kubectl asks for
// `as=Table`: the kind's printer columns, one row per object, and the
// object itself as PartialObjectMetadata (or whole, with includeObject=Object).
import { crdPrinter, DEFAULT_PRINTER, PRINTERS } from './printers.ts';
import { crdVersion, type RegisteredType } from './registry.ts';
import type { KubeObject, Printer } from './types.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Whether the Accept header asks for a Table (kubectl's human-readable output). */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io');
  });
}

export function printerFor(type: RegisteredType, version: string): Printer {
  if (type.crd) return crdPrinter(crdVersion(type, version)?.additionalPrinterColumns);
  return PRINTERS[type.key] ?? DEFAULT_PRINTER;
}

export function toTable(type: RegisteredType, version: string, objects: KubeObject[], now: Date, include: IncludeObject, listMeta: Record<string, unknown>, withColumns = true): object {
  const printer = printerFor(type, version);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: withColumns ? printer.columns : null,
    rows: objects.map((object) => ({
      cells: printer.cells(object, now),
      ...(include === 'None' ? {} : { object: include === 'Object' ? object : partialMetadata(object) }),
    })),
  };
}

function partialMetadata(object: KubeObject): object {
  const { managedFields: _managed, ...metadata } = object.metadata;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata };
}
