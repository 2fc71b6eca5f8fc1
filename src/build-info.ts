import pkg from '../package.json' with { type: 'json' };

declare const __GIT_COMMIT__: string | undefined;

/** The plugin's own version, as krew and `version` report it. */
export const PLUGIN_VERSION = `v${pkg.version}`;

/** Set by the build; `dev` when running from source. */
export const GIT_COMMIT = typeof __GIT_COMMIT__ === 'string' ? __GIT_COMMIT__ : 'dev';

export const PLUGIN_NAME = 'kubectl-calico';
export const PLUGIN_HOMEPAGE: string = pkg.homepage;
