import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { createExecEngine } from '../../src/runner/exec/engine.ts';
import { engineContract, planStep } from './engine.contract.ts';

const root = mkdtempSync(join(tmpdir(), 'runlog-exec-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

engineContract({
  name: 'exec',
  engine: () => createExecEngine({ root, runner: 'exec-contract' }),
  image: '',
  leftovers: async (run) => (existsSync(join(root, run.runId)) ? [`folder ${join(root, run.runId)}`] : []),
  refusedStage: (run) => ({
    ...run,
    stage: { ...run.stage, services: [planStep({ name: 'db', kind: 'service', image: 'postgres' })] },
  }),
});
