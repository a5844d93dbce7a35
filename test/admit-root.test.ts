import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { isIgnoredPath, isRootWanted } from '../exporter/admit-root.js';
import { type ProcessorSettings, resolveProcessorSettings } from '../exporter/processor-settings.js';
import { RecentIds } from '../exporter/recent-ids.js';

/** A root as the admission reads it: its name and attributes. */
function rootAt(path: string): ReadableSpan {
  return {
    name: 'GET',
    attributes: { 'http.request.method': 'GET', 'url.path': path },
  } as unknown as ReadableSpan;
}

function settings(overrides: Partial<ProcessorSettings>): ProcessorSettings {
  return { ...resolveProcessorSettings({}), ...overrides };
}

class Warnings {
  readonly messages: string[] = [];
  warn(message: string): void {
    this.messages.push(message);
  }
}

describe('isIgnoredPath', () => {
  it('matches a string path itself and what lies under it, not a longer name', () => {
    const ignored = ['/_ah/stats', '/healthz/'];
    assert.equal(isIgnoredPath('/_ah/stats', ignored), true);
    assert.equal(isIgnoredPath('/_ah/stats/details', ignored), true);
    assert.equal(
      isIgnoredPath('/_ah/statsextra', ignored),
      false,
      'a sibling with a longer name is recorded',
    );
    assert.equal(isIgnoredPath('/healthz/live', ignored), true);
    assert.equal(isIgnoredPath('/', ignored), false);
  });

  it('tests a RegExp against the whole path', () => {
    assert.equal(isIgnoredPath('/static/app.js', [/\.js$/]), true);
    assert.equal(isIgnoredPath('/api/js', [/\.js$/]), false);
  });

  it('a global or sticky RegExp gives the same answer every time (no lastIndex carried over)', () => {
    const global = [/health/g];
    const sticky = [/\/health/y];
    for (let i = 0; i < 4; i++) {
      assert.equal(isIgnoredPath('/health', global), true, `global, check ${i + 1}`);
      assert.equal(isIgnoredPath('/health', sticky), true, `sticky, check ${i + 1}`);
    }
  });
});

describe('isRootWanted', () => {
  it('refuses ignored paths and roots that shouldRecord turns down, wants the rest', () => {
    const chosen = settings({ shouldRecord: (root) => root.attributes['url.path'] !== '/private' });
    const warnings = new Warnings();
    assert.equal(isRootWanted(rootAt('/products'), chosen, warnings), true);
    assert.equal(isRootWanted(rootAt('/private'), chosen, warnings), false);
    assert.equal(isRootWanted(rootAt('/_ah/stats/'), chosen, warnings), false, 'the default ignored path');
    assert.deepEqual(warnings.messages, []);
  });

  it('a throwing shouldRecord means no, and says why', () => {
    const throwing = settings({
      shouldRecord: () => {
        throw new Error('user bug');
      },
    });
    const warnings = new Warnings();
    assert.equal(isRootWanted(rootAt('/products'), throwing, warnings), false);
    assert.deepEqual(warnings.messages, ['shouldRecord threw: user bug']);
  });

  it('recordFraction 0 records nothing, 1 everything', () => {
    const warnings = new Warnings();
    for (let i = 0; i < 50; i++) {
      assert.equal(isRootWanted(rootAt('/a'), settings({ recordFraction: 0 }), warnings), false);
      assert.equal(isRootWanted(rootAt('/a'), settings({ recordFraction: 1 }), warnings), true);
    }
  });
});

describe('RecentIds', () => {
  it('forgets the oldest past its bound and says whether a deleted id was there', () => {
    const ids = new RecentIds(3);
    for (const id of ['a', 'b', 'c', 'd']) ids.add(id);
    assert.equal(ids.has('a'), false, 'the oldest went when the fourth came');
    assert.equal(ids.has('d'), true);
    assert.equal(ids.delete('b'), true);
    assert.equal(ids.delete('b'), false);
  });
});
