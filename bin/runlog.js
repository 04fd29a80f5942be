#!/usr/bin/env node
// Node runs the TypeScript sources through tsx (chosen once, here); Bun and Deno run
// src/cli/main.ts directly.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
