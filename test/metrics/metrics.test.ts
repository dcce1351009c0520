import assert from 'node:assert/strict';
import { MetricsRegistry } from '../../src/metrics/index.js';

describe('metrics registry', () => {
  it('renders a series read from its owner at each render, never a copy', () => {
    const registry = new MetricsRegistry();
    const owner = { sent: 0, failed: 0 };
    registry
      .counter('shadows_total', 'Shadows.', ['result'])
      .readFrom(() => owner.sent, 'sent')
      .readFrom(() => owner.failed, 'failed');
    assert.match(registry.render(), /^shadows_total\{result="sent"\} 0$/m);
    owner.sent += 3;
    owner.failed++;
    const text = registry.render();
    assert.match(text, /^shadows_total\{result="sent"\} 3$/m);
    assert.match(text, /^shadows_total\{result="failed"\} 1$/m);
    assert.match(text, /^# TYPE shadows_total counter$/m);
  });

  it('mixes kept children and read series in one gauge family', () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge('open', 'Open things.', ['kind']);
    gauge.labels('kept').set(2);
    let read = 5;
    gauge.readFrom(() => read, 'read');
    read = 7;
    const text = registry.render();
    assert.match(text, /^open\{kind="kept"\} 2$/m);
    assert.match(text, /^open\{kind="read"\} 7$/m);
  });

  it('refuses a read series with the wrong number of label values', () => {
    const registry = new MetricsRegistry();
    assert.throws(
      () => registry.counter('c_total', 'C.', ['a', 'b']).readFrom(() => 1, 'x'),
      /c_total: expected 2 label values/,
    );
  });

  it('refreshes a family whose label sets are a view of other state before rendering it', () => {
    const registry = new MetricsRegistry();
    const down = new Set(['a']);
    const gauge = registry.gauge('down', 'Down hosts.', ['host']);
    gauge.beforeRender(() => {
      gauge.reset();
      for (const h of down) gauge.labels(h).set(1);
    });
    assert.match(registry.render(), /^down\{host="a"\} 1$/m);
    down.delete('a');
    down.add('b');
    const text = registry.render();
    assert.doesNotMatch(text, /host="a"/);
    assert.match(text, /^down\{host="b"\} 1$/m);
  });
});
