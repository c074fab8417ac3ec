// The login throttle's bookkeeping on the in-process store (the Redis store passes the same contract).
import { createStore } from '@g3d/store';
import { describe, expect, it } from 'vitest';

import { DEFAULT_THROTTLE, LoginThrottle } from '../src/modules/auth/login-throttle.ts';

describe('LoginThrottle', () => {
  it('a window that expired while a login was in flight does not come back without an expiry', async () => {
    const store = await createStore({ prefix: 'throttle-test:' });
    const throttle = new LoginThrottle(store, DEFAULT_THROTTLE);
    expect(await throttle.begin('a@a.example', '')).toEqual({ ok: true });
    await store.del('login:tickets:a@a.example'); // the window ends mid-attempt
    await throttle.succeeded('a@a.example');
    expect(await store.get('login:tickets:a@a.example')).toBe('-1');
    const ttl = await store.ttl('login:tickets:a@a.example');
    expect(ttl).not.toBeNull();
    expect(ttl).toBeLessThanOrEqual(DEFAULT_THROTTLE.windowMs);
    await store.close();
  });
});
