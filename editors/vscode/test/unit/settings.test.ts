import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentSection, resolveServerCommand, serverEnvironment, SettingError } from '../../src/settings';

describe('agentSection', () => {
  it('sends only the settings the user set, under the server names', () => {
    const set: Record<string, unknown> = { planner: 'openai', maxParallel: 4, approvalTimeoutMs: 30_000 };
    assert.deepEqual(
      agentSection((key) => set[key]),
      { planner: 'openai', maxParallel: 4, approvalTimeoutMs: 30_000 },
    );
  });

  it('leaves out an empty baseUrl (the default endpoint) and unset keys', () => {
    const set: Record<string, unknown> = { baseUrl: '', model: 'gpt-4o', sandbox: null };
    assert.deepEqual(
      agentSection((key) => set[key]),
      { model: 'gpt-4o' },
    );
  });

  it('passes a wrongly typed value on for the server to reject by name', () => {
    assert.deepEqual(
      agentSection((key) => (key === 'maxParallel' ? '4' : undefined)),
      { maxParallel: '4' },
    );
  });

  it('never carries an API key, even if one was set as a setting', () => {
    assert.deepEqual(
      agentSection((key) => (key === 'apiKey' ? 'sk-secret' : undefined)),
      {},
    );
  });
});

describe('resolveServerCommand', () => {
  const files =
    (...present: string[]) =>
    (file: string) =>
      present.includes(file);

  it('uses agentd.server.command as given', () => {
    const command = resolveServerCommand({
      configured: ['/opt/agentd/bin/agentd', 'serve', '--log-level', 'INFO'],
      workspaceFolders: ['/ws'],
      isFile: files('/ws/.venv/bin/agentd'),
    });
    assert.deepEqual(command, {
      command: '/opt/agentd/bin/agentd',
      args: ['serve', '--log-level', 'INFO'],
      origin: 'the setting agentd.server.command',
    });
  });

  it('refuses a command that is not a list of non-empty strings, saying what it wants', () => {
    for (const bad of ['agentd serve', ['agentd', ''], [1, 2], { command: 'agentd' }]) {
      assert.throws(
        () => resolveServerCommand({ configured: bad, workspaceFolders: [], isFile: files() }),
        (error: unknown) => error instanceof SettingError && /list of non-empty strings/.test(error.message),
      );
    }
  });

  it("finds the workspace's .venv, then venv, env, in folder order", () => {
    const command = resolveServerCommand({
      configured: [],
      workspaceFolders: ['/a', '/b'],
      isFile: files('/b/.venv/bin/agentd', '/a/env/bin/agentd'),
      platform: 'linux',
    });
    assert.equal(command.command, '/a/env/bin/agentd');
    assert.deepEqual(command.args, ['serve']);
    assert.match(command.origin, /env environment/);
  });

  it("uses the Python extension's interpreter next, then PATH", () => {
    const viaPython = resolveServerCommand({
      configured: undefined,
      workspaceFolders: ['/a'],
      pythonInterpreter: '/opt/py/bin/python3',
      isFile: files('/opt/py/bin/agentd'),
      platform: 'linux',
    });
    assert.equal(viaPython.command, '/opt/py/bin/agentd');
    const relativeInterpreter = resolveServerCommand({
      configured: undefined,
      workspaceFolders: ['/a'],
      pythonInterpreter: 'python3',
      isFile: files('agentd'),
      platform: 'linux',
    });
    assert.deepEqual(relativeInterpreter, { command: 'agentd', args: ['serve'], origin: 'PATH' });
  });

  it('looks in Scripts\\agentd.exe on Windows', () => {
    const command = resolveServerCommand({
      configured: [],
      workspaceFolders: ['/w'],
      isFile: (file) => file.endsWith('agentd.exe') && file.includes('Scripts'),
      platform: 'win32',
    });
    assert.match(command.command, /\.venv.Scripts.agentd\.exe$/);
  });
});

describe('serverEnvironment', () => {
  it('adds the stored API key as OPENAI_API_KEY without touching the base', () => {
    const base = { PATH: '/bin' };
    assert.deepEqual(serverEnvironment(base, 'sk-1'), { PATH: '/bin', OPENAI_API_KEY: 'sk-1' });
    assert.deepEqual(base, { PATH: '/bin' });
  });

  it('keeps an exported OPENAI_API_KEY when no key is stored', () => {
    assert.deepEqual(serverEnvironment({ OPENAI_API_KEY: 'sk-env' }, undefined), { OPENAI_API_KEY: 'sk-env' });
  });
});
