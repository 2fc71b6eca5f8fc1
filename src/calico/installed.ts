import type { KubeClient } from '../kube/client.ts';
import { ApiError } from '../kube/errors.ts';
import { calicoVersionForOperator } from './versions.ts';

export const OPERATOR_NAMESPACE = 'tigera-operator';
export const OPERATOR_DEPLOYMENT = 'tigera-operator';
export const INSTALLATION_PATH = '/apis/operator.tigera.io/v1/installations/default';
export const OPERATOR_DEPLOYMENT_PATH = `/apis/apps/v1/namespaces/${OPERATOR_NAMESPACE}/deployments/${OPERATOR_DEPLOYMENT}`;

/** What the cluster says about its Calico install; `error` explains a value we could not read. */
export interface InstalledCalico {
  installed: boolean;
  version?: string;
  /** Where `version` was read: the Installation's status, or the operator image when the status is not filled yet. */
  versionSource?: 'Installation' | 'operator image';
  variant?: string;
  operatorVersion?: string;
  operatorImage?: string;
  error?: string;
}

interface Installation {
  status?: { calicoVersion?: string; variant?: string };
}

interface Deployment {
  spec?: { template?: { spec?: { containers?: { name: string; image?: string }[] } } };
}

/** Reads the Installation and the operator Deployment concurrently. */
export async function installedCalico(kube: KubeClient): Promise<InstalledCalico> {
  const [installation, deployment] = await Promise.allSettled([
    kube.optional<Installation>(INSTALLATION_PATH),
    kube.optional<Deployment>(OPERATOR_DEPLOYMENT_PATH),
  ]);
  const result: InstalledCalico = { installed: false };
  const errors: string[] = [];
  if (deployment.status === 'fulfilled' && deployment.value) {
    const image = operatorImage(deployment.value);
    if (image) {
      result.operatorImage = image;
      result.operatorVersion = image.split(':').pop();
    }
  } else if (deployment.status === 'rejected') errors.push(readError(deployment.reason));
  if (installation.status === 'fulfilled' && installation.value) {
    result.installed = true;
    result.variant = installation.value.status?.variant;
    const version = installation.value.status?.calicoVersion;
    if (version) Object.assign(result, { version, versionSource: 'Installation' });
  } else if (installation.status === 'rejected') errors.push(readError(installation.reason));
  if (!result.version && result.operatorVersion) {
    const version = calicoVersionForOperator(result.operatorVersion);
    if (version) Object.assign(result, { version, versionSource: 'operator image' });
  }
  result.installed ||= result.operatorImage !== undefined;
  if (errors.length) result.error = errors.join('; ');
  return dropUndefined(result);
}

function operatorImage(deployment: Deployment): string | undefined {
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  return (containers.find((c) => c.name === 'tigera-operator') ?? containers[0])?.image;
}

function readError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  throw error;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
