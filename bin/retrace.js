#!/usr/bin/env node
// The `retrace` binary: register tsx's loader (the project and pipeline.config.ts are
// TypeScript), then hand over to the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
