#!/usr/bin/env node
// The kubectl-calico entry point: the single binary is bundled from here, and
// `npm link` / `npm i -g .` link it.
import { start } from '../src/start.ts';

start();
