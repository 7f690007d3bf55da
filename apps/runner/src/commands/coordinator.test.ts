import { describe, expect, it } from 'vitest';
import { parseListen } from './coordinator.js';

describe('runnerkit coordinator --listen', () => {
  it('takes HOST:PORT, :PORT and PORT; the host defaults to 127.0.0.1', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen(':0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseListen('127.0.0.1:http')).toThrowError('--listen: invalid port in "127.0.0.1:http"');
  });
});
