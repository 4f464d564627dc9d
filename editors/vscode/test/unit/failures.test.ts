import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crashMessage, keepTail, startFailureMessage } from '../../src/failures';
import type { ServerCommand } from '../../src/settings';

const command: ServerCommand = {
  command: '/ws/.venv/bin/agentd',
  args: ['serve'],
  origin: "the workspace's .venv environment",
};

describe('keepTail', () => {
  it('keeps the last non-blank lines across chunks', () => {
    let tail = keepTail([], 'one\ntwo\n\n', 3);
    tail = keepTail(tail, 'three\nfour\n', 3);
    assert.deepEqual(tail, ['two', 'three', 'four']);
  });
});

describe('startFailureMessage', () => {
  it('says what was not found, where it came from, and how to fix it', () => {
    const message = startFailureMessage(command, { errorCode: 'ENOENT', tail: [] });
    assert.equal(
      message,
      "agentd could not start: /ws/.venv/bin/agentd was not found (from the workspace's .venv environment). " +
        "Install agentd in the workspace's Python environment (python -m pip install agentd) " +
        'or set agentd.server.command to its command line.',
    );
  });

  it('says a file is not executable', () => {
    assert.match(startFailureMessage(command, { errorCode: 'EACCES', tail: [] }), /is not executable/);
  });

  it('shows the exit code and the last five lines the server printed (wrong Python, crash at start)', () => {
    const tail = [
      'Traceback (most recent call last):',
      'a',
      'b',
      'c',
      'd',
      "ModuleNotFoundError: No module named 'server'",
    ];
    const message = startFailureMessage(command, { exitCode: 1, tail });
    assert.match(message, /^agentd could not start \(\/ws\/\.venv\/bin\/agentd serve\): it exited with code 1\./);
    assert.match(message, /Last lines of its log: a ⏎ b ⏎ c ⏎ d ⏎ ModuleNotFoundError: No module named 'server'/);
    assert.doesNotMatch(message, /Traceback/);
    assert.match(message, /Python 3\.11\+/);
  });
});

describe('crashMessage', () => {
  it('tells how the server ended', () => {
    assert.equal(
      crashMessage(command, { signal: 'SIGKILL', tail: [] }),
      'agentd stopped unexpectedly (/ws/.venv/bin/agentd): it was killed by SIGKILL.',
    );
    assert.equal(
      crashMessage(command, { exitCode: null, tail: ['bye'] }),
      'agentd stopped unexpectedly (/ws/.venv/bin/agentd): its connection closed. Last lines of its log: bye',
    );
  });
});
