// A runner that dies mid-stage: the kill -9 test in docker-engine.int.test.ts spawns this,
// waits for "step running", and kills it. Argument: the runner name to label resources with.
import { createDockerEngine } from '../../src/runner/docker/engine.ts';
import { TEST_IMAGE, testDocker } from '../support/docker.ts';
import { never, stageRun, stepOf } from './engine.contract.ts';

const daemon = await testDocker();
if (!daemon.docker) throw new Error(daemon.skip);
const engine = createDockerEngine({ docker: daemon.docker, runner: process.argv[2] });
const run = stageRun([{ name: 'long', script: 'echo step running\nsleep 120' }], { image: TEST_IMAGE });
await engine.setup(run, never);
await engine.runStep(run, stepOf(run, 'long'), (chunk) => process.stdout.write(chunk), never);
