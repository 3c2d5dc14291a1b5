import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeNotifications } from '../static/js/notifications.js';

test('hidden without receivers', () => {
  assert.equal(describeNotifications({ enabled: false, receivers: [] }), null);
  assert.equal(describeNotifications(null), null);
});

test('all receivers fine', () => {
  const d = describeNotifications({ enabled: true, receivers: [{ name: 'ops', pending: 0 }, { name: 'pager', pending: 1 }] });
  assert.deepEqual(d, { state: 'ok', text: 'Notifications: 2 receivers OK, 1 sending' });
});

test('a failing receiver: who, why, how much waits and since when', () => {
  const d = describeNotifications({ enabled: true, receivers: [
    { name: 'ops', failing: true, lastError: 'HTTP 500: down', pending: 3, oldestPendingSeconds: 720 },
    { name: 'pager', pending: 0 },
  ] });
  assert.equal(d.state, 'failing');
  assert.equal(d.text, 'Notifications failing: ops (HTTP 500: down); 3 changes waiting, oldest 12 min. Retrying.');
});
