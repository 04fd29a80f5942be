import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { problemsOf } from './compile-helpers.ts';
import type { Build } from './compile-helpers.ts';

/**
 * Errors and warnings, one row per rule: given a small file, when it compiles, then
 * exactly these diagnostics (`line:col: severity: message`). Errors are where Drone
 * refuses the file too; warnings where Drone runs it but it likely does not say what
 * its author meant.
 */

interface Case {
  name: string;
  yaml: string;
  build?: Build;
  want: string[];
}

const cases: Case[] = [
  // YAML itself
  { name: 'a YAML syntax error', yaml: 'kind: pipeline\nsteps: [a\n', want: ['3:1: error: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]'] },
  { name: 'a document that is not a map', yaml: '- kind: pipeline\n', want: ['1:1: error: expected a map such as `kind: pipeline` with its fields, got a list or a single value'] },
  { name: 'an empty file', yaml: '', want: ['1:1: error: the file has no pipeline (a document with kind: pipeline)'] },
  { name: "Drone 0.8's format", yaml: 'pipeline:\n  build:\n    image: golang\n', want: ["1:1: error: this is Drone 0.8's format (a `pipeline:` map of steps); runlog reads Drone 1.0+ documents (`kind: pipeline` with a `steps:` list), see `drone convert`"] },
  { name: 'an alias to itself', yaml: 'kind: pipeline\nsteps: &s [*s]\n', want: ['1:1: error: alias *s refers to itself or to nothing'] },

  // kind and type
  { name: 'kind missing: read as a pipeline', yaml: 'steps:\n- name: a\n  image: x\n', want: ['1:1: warning: kind is missing: read as `kind: pipeline`, as Drone does; write it out'] },
  { name: 'an unknown kind', yaml: 'kind: pipline\nsteps: []\n', want: ["1:7: error: unknown kind 'pipline': expected pipeline, secret or signature"] },
  { name: 'kind: template', yaml: 'kind: template\nload: x.jsonnet\n', want: ["1:7: error: kind: template (Drone's server-side templates) is not supported by runlog"] },
  { name: 'kind: cron is ignored', yaml: 'kind: pipeline\nsteps: [{name: a, image: x}]\n---\nkind: cron\nname: nightly\n', want: ['4:7: warning: kind: cron is not used by runlog; the document is ignored'] },
  { name: 'type: kubernetes', yaml: 'kind: pipeline\ntype: kubernetes\nsteps: []\n', want: ['2:7: error: type: kubernetes: no runner type for this in runlog; it runs docker and exec pipelines'] },
  { name: 'an unknown type', yaml: 'kind: pipeline\ntype: dokcer\nsteps: []\n', want: ["2:7: error: unknown type 'dokcer': expected docker or exec"] },

  // fields: shape
  { name: 'image is required for docker', yaml: 'kind: pipeline\nsteps:\n- name: a\n  commands: [make]\n', want: ['3:3: error: steps[0].image: required for type docker'] },
  { name: 'an empty image', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: ""\n', want: ['4:10: error: steps[0].image: required for type docker'] },
  { name: 'name is required', yaml: 'kind: pipeline\nsteps:\n- image: x\n', want: ['3:3: error: steps[0].name: required'] },
  { name: 'commands must be a list', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  commands: go build\n', want: ["5:13: error: steps[0].commands: expected a list, got the string 'go build'"] },
  { name: 'a command with ": " is a map in YAML', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  commands:\n  - echo result: ok\n', want: ["6:5: error: steps[0].commands[0]: expected a string, got a map (a ': ' inside a value makes YAML read a map; quote the whole value)"] },
  { name: "environment as 0.8's list", yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  environment:\n  - A=b\n', want: ['6:3: error: steps[0].environment: expected a map of NAME: value'] },
  { name: 'an environment value that is a list', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  environment:\n    A: [1, 2]\n', want: ['6:8: error: steps[0].environment.A: expected a value or { from_secret: name }'] },
  { name: 'privileged must be a boolean', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  privileged: "true"\n', want: ["5:15: error: steps[0].privileged: expected true or false, got the string 'true'"] },
  { name: 'shm_size that is not a size', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  shm_size: big\n', want: ["5:13: error: steps[0].shm_size: 'big' is not a size (bytes, or like 512m, 1g, 2GiB)"] },
  { name: 'retry.limit 0', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  retry: {limit: 0}\n', want: ['5:18: error: steps[0].retry.limit: must be at least 1'] },
  { name: 'retry.limit 11', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  retry: {limit: 11}\n', want: ['5:18: error: steps[0].retry.limit: must be at most 10'] },
  { name: 'a condition that is a number list item', yaml: 'kind: pipeline\ntrigger:\n  event: {include: push, exclude: {a: b}}\nsteps: [{name: a, image: x}]\n', want: ['3:35: error: trigger.event.exclude: expected a string or a list, got a map'] },

  // fields: unknown and ignored (warnings; the file still runs, as on Drone)
  { name: 'an unknown field, with a guess', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  comands: [make]\n', want: ["5:3: warning: steps[0].comands: unknown field, ignored as Drone ignores it (did you mean 'commands'?)"] },
  { name: 'an unknown condition', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  when:\n    branches: main\n', want: ["6:5: warning: steps[0].when.branches: unknown field, ignored as Drone ignores it (did you mean 'branch'?)"] },
  { name: "0.8's step secrets", yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  secrets: [token]\n', want: ["5:3: warning: steps[0].secrets: is Drone 0.8's form and is ignored; write environment: { NAME: { from_secret: name } }"] },
  { name: 'ports are ignored', yaml: 'kind: pipeline\nservices:\n- name: db\n  image: postgres\n  ports: [5432]\nsteps: [{name: a, image: x}]\n', want: ["5:3: warning: services[0].ports: is ignored, as Drone's docker runner does; services are reachable by their name"] },
  { name: 'a docker field in an exec pipeline', yaml: 'kind: pipeline\ntype: exec\nsteps:\n- name: a\n  image: golang\n  commands: [go build]\n', want: ['5:3: warning: steps[0].image: not used by exec pipelines; ignored'] },
  { name: 'workspace in an exec pipeline', yaml: 'kind: pipeline\ntype: exec\nworkspace: {path: /src}\nsteps:\n- name: a\n  commands: [make]\n', want: ['3:1: warning: workspace: is ignored by exec pipelines: the runner picks a fresh directory'] },

  // Drone's rules on steps
  { name: 'duplicate step names', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n- name: a\n  image: y\n', want: ["5:9: error: steps[1].name: 'a' is already the name of steps[0]"] },
  { name: 'a service and a step with one name', yaml: 'kind: pipeline\nservices:\n- name: db\n  image: x\nsteps:\n- name: db\n  image: y\n', want: ["6:9: error: steps[0].name: 'db' is already the name of services[0]"] },
  { name: 'a step named clone while cloning', yaml: 'kind: pipeline\nsteps:\n- name: clone\n  image: alpine/git\n', want: ["3:9: error: steps[0].name: 'clone' is the name of the clone step; disable it with clone: { disable: true } to write your own"] },
  { name: 'a custom clone step with cloning disabled', yaml: 'kind: pipeline\nclone: {disable: true}\nsteps:\n- name: clone\n  image: alpine/git\n', want: [] },
  { name: 'an unknown dependency', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  depends_on: [biuld]\n', want: ["5:16: error: steps[0].depends_on[0]: no step or service named 'biuld'"] },
  { name: 'depending on the disabled clone', yaml: 'kind: pipeline\nclone: {disable: true}\nsteps:\n- name: a\n  image: x\n  depends_on: [clone]\n', want: ['6:16: error: steps[0].depends_on[0]: the clone step is disabled'] },
  { name: 'a step depending on itself', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  depends_on: [a]\n', want: ['5:16: error: steps[0].depends_on[0]: a step cannot depend on itself'] },
  {
    name: 'a dependency cycle',
    yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  depends_on: [c]\n- name: b\n  image: x\n  depends_on: [a]\n- name: c\n  image: x\n  depends_on: [b]\n',
    want: [
      '5:15: error: steps[0].depends_on: dependency cycle: a → c → b → a',
      "5:16: warning: steps[0].depends_on[0]: 'c' is declared after this step; runlog follows it, Drone refuses the file",
    ],
  },
  { name: 'depends_on on some steps only', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n- name: b\n  image: x\n  depends_on: [a]\n- name: c\n  image: x\n', want: ["3:9: warning: steps[0].name: has no depends_on while other steps do, so it starts right after the clone (Drone's rule); give every step its depends_on", "8:9: warning: steps[2].name: has no depends_on while other steps do, so it starts right after the clone (Drone's rule); give every step its depends_on"] },
  { name: 'commands replace an entrypoint', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  entrypoint: [/bin/app]\n  commands: [make]\n', want: ['5:15: warning: steps[0].entrypoint: is ignored: commands replace the entrypoint and command, as in Drone'] },
  { name: 'an unknown pull policy', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  pull: true\n', want: ["5:9: warning: steps[0].pull: 'true' is not a pull policy (always, never, if-not-exists); Drone's default applies"] },
  { name: 'failure: fast', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  failure: fast\n', want: ["5:12: warning: steps[0].failure: 'fast' (fail fast) is not supported by runlog; a failure fails the stage as usual"] },
  { name: "0.8's status: changed", yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  when:\n    status: [changed]\n', want: ["6:13: warning: steps[0].when.status: 'changed' is not a status; use success or failure"] },
  { name: 'a pipeline without steps', yaml: 'kind: pipeline\nname: empty\n', want: ['1:1: warning: steps: the pipeline has no steps'] },

  // volumes
  { name: 'mounting an undeclared volume', yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  volumes:\n  - name: cache\n    path: /go\n', want: ["6:11: error: steps[0].volumes[0].name: no volume named 'cache' is declared in volumes"] },
  { name: 'a reserved volume name', yaml: 'kind: pipeline\nvolumes:\n- name: workspace\n  temp: {}\nsteps: [{name: a, image: x}]\n', want: ["3:9: error: volumes[0].name: 'workspace' is reserved for the runner"] },
  { name: 'a volume neither temp nor host', yaml: 'kind: pipeline\nvolumes:\n- name: v\nsteps: [{name: a, image: x}]\n', want: ['3:9: warning: volumes[0].name: declares neither temp nor host; Drone ignores such a volume'] },

  // trust (drone-yaml linter checkContainer, checkVolumes)
  { name: 'privileged in an untrusted repository', build: { trusted: false }, yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: docker:dind\n  privileged: true\n', want: ['5:15: error: steps[0].privileged: only trusted repositories may run privileged steps'] },
  { name: 'a host volume in an untrusted repository', build: { trusted: false }, yaml: 'kind: pipeline\nvolumes:\n- name: sock\n  host: {path: /var/run/docker.sock}\nsteps: [{name: a, image: x}]\n', want: ['4:3: error: volumes[0].host: only trusted repositories may mount host volumes'] },
  { name: 'a tmpfs volume in an untrusted repository', build: { trusted: false }, yaml: 'kind: pipeline\nvolumes:\n- name: t\n  temp: {medium: memory}\nsteps: [{name: a, image: x}]\n', want: ['4:18: error: volumes[0].temp.medium: only trusted repositories may mount in-memory volumes'] },
  { name: 'network settings in an untrusted repository', build: { trusted: false }, yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x\n  network_mode: host\n  dns: [1.1.1.1]\n  extra_hosts: ["a:1.2.3.4"]\n', want: ['5:17: error: steps[0].network_mode: only trusted repositories may configure network_mode', '6:8: error: steps[0].dns: only trusted repositories may configure dns', '7:16: error: steps[0].extra_hosts: only trusted repositories may configure extra_hosts'] },
  { name: 'plugins/docker in an untrusted repository is fine', build: { trusted: false }, yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: plugins/docker\n', want: [] },

  // platform and workspace
  { name: 'an os docker does not run on', yaml: 'kind: pipeline\nplatform: {os: darwin}\nsteps: [{name: a, image: x}]\n', want: ["2:16: error: platform.os: 'darwin' is not an os docker pipelines run on (linux, windows)"] },
  { name: 'an unknown architecture', yaml: 'kind: pipeline\nplatform: {arch: x86}\nsteps: [{name: a, image: x}]\n', want: ["2:18: error: platform.arch: 'x86' is not an architecture docker pipelines run on (arm, arm64, amd64, ppc64le, s390x)"] },
  { name: 'workspace.base is the 1.0 form', yaml: 'kind: pipeline\nworkspace: {base: /go, path: src/app}\nsteps: [{name: a, image: x}]\n', want: ['2:13: warning: workspace.base: is the Drone 1.0 form; write the full path as workspace.path'] },
  { name: 'a workspace in a system directory', yaml: 'kind: pipeline\nworkspace: {path: /etc}\nsteps: [{name: a, image: x}]\n', want: ['2:1: warning: workspace: points into a system directory; /drone/src is used instead, as Drone does'] },

  // across pipelines (drone-yaml linter/config.go)
  { name: 'duplicate pipeline names', yaml: 'kind: pipeline\nname: a\nsteps: [{name: s, image: x}]\n---\nkind: pipeline\nname: a\nsteps: [{name: s, image: x}]\n', want: ["6:7: error: pipeline name 'a' is already used by the pipeline at line 1"] },
  { name: 'two unnamed pipelines', yaml: 'kind: pipeline\nsteps: [{name: s, image: x}]\n---\nkind: pipeline\nsteps: [{name: s, image: x}]\n', want: ["4:1: error: pipeline name 'default' is already used by the pipeline at line 1 (a pipeline without a name is called default)"] },
  { name: 'an unknown pipeline dependency', yaml: 'kind: pipeline\nname: a\ndepends_on: [tset]\nsteps: [{name: s, image: x}]\n', want: ["3:14: error: depends_on[0]: no pipeline named 'tset' in this file"] },
  {
    name: 'a dependency on an invalid pipeline is not also called unknown',
    yaml: 'kind: pipeline\nname: build\nsteps: [{name: s}]\n---\nkind: pipeline\nname: deploy\ndepends_on: [build]\nsteps: [{name: s, image: x}]\n',
    want: ['3:9: error: steps[0].image: required for type docker'],
  },
  { name: 'a pipeline depending on itself', yaml: 'kind: pipeline\nname: a\ndepends_on: [a]\nsteps: [{name: s, image: x}]\n', want: ['3:14: error: depends_on[0]: a pipeline cannot depend on itself'] },
  {
    name: 'a cycle between pipelines',
    yaml: 'kind: pipeline\nname: a\ndepends_on: [b]\nsteps: [{name: s, image: x}]\n---\nkind: pipeline\nname: b\ndepends_on: [a]\nsteps: [{name: s, image: x}]\n',
    want: ['3:13: error: depends_on: dependency cycle between pipelines: a → b → a', "3:14: warning: depends_on[0]: 'b' is declared after this pipeline; runlog follows it, Drone refuses the file"],
  },

  // secrets and signatures
  { name: 'a secret without get', yaml: 'kind: pipeline\nsteps: [{name: s, image: x}]\n---\nkind: secret\nname: token\n', want: ['4:1: error: a secret document needs get: { path, name } (runner-go: invalid secret resource)'] },
  { name: "Drone's encrypted secret", yaml: 'kind: pipeline\nsteps: [{name: s, image: x}]\n---\nkind: secret\nname: token\ndata: aGVsbG8=\n', want: ["6:1: warning: data: Drone's encrypted secrets are not supported by runlog; store the secret in the repository's secrets instead"] },
  { name: 'a signature without hmac', yaml: 'kind: pipeline\nsteps: [{name: s, image: x}]\n---\nkind: signature\n', want: ['4:1: error: hmac: required: the signature of the file'] },

  // substitution
  {
    name: 'an unsupported substitution names itself and where it is',
    yaml: 'kind: pipeline\nsteps:\n- name: a\n  image: x:${DRONE_TAG:?no tag}\n',
    want: [
      "4:12: error: unsupported substitution '${DRONE_TAG:?no tag}': Drone supports ${var}, ${#var}, ${var^}, ${var^^}, ${var,}, ${var,,}, ${var:pos}, ${var:pos:len}, ${var#pat}, ${var##pat}, ${var%pat}, ${var%%pat}, ${var/pat/rep}, ${var//pat/rep}, ${var/#pat/rep}, ${var/%pat/rep}, ${var=default}, ${var:=default} and ${var:-default}; write $${ for a literal ${",
    ],
  },
];

describe('compile: diagnostics', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(problemsOf(c.yaml, c.build), c.want);
    });
  }
});
