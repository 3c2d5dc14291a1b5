import { test } from 'node:test';
import assert from 'node:assert/strict';
import { whoAmI, canOperate, isAdmin, connectionConfig } from '../static/js/common.js';
import { ApiError } from '../static/js/api.js';

const failing = (status) => ({ get: async () => { throw new ApiError(status, { error: { message: 'x' } }); } });

test('a 404 from /api/auth/me is an unknown viewer, never an admin', async () => {
  const me = await whoAmI(failing(404));
  assert.equal(me.role, 'viewer');
  assert.equal(me.unknown, true);
  assert.equal(isAdmin(me), false);
  assert.equal(canOperate(me), false);
});

test('the loopback demo answers /api/auth/me itself: its local admin is taken as said', async () => {
  const me = await whoAmI({ get: async () => ({ subject: 'local', role: 'admin', authRequired: false }) });
  assert.equal(isAdmin(me), true);
});

test('other errors are not guessed at', async () => {
  await assert.rejects(whoAmI(failing(500)), /x/);
});

test('connectionConfig: the options a page URL asks for (pages with different ones do not share)', () => {
  assert.deepEqual(connectionConfig(''), { base: '/api/crowd-risk' });
  assert.deepEqual(connectionConfig('?streams=separate&transport=ws&share=locks'), { base: '/api/crowd-risk', separate: true, transport: 'ws' });
});
