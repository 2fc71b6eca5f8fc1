import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxyFor } from '../../src/kube/proxy.ts';

test('HTTPS_PROXY is used for https servers, HTTP_PROXY for http ones', () => {
  assert.equal(proxyFor('https://api.example.com:6443', { HTTPS_PROXY: 'http://proxy:3128' }), 'http://proxy:3128');
  assert.equal(proxyFor('http://api.example.com:8080', { HTTPS_PROXY: 'http://proxy:3128' }), undefined);
  assert.equal(proxyFor('http://api.example.com:8080', { http_proxy: 'http://p:1' }), 'http://p:1');
});

test('loopback is never proxied, as in Go', () => {
  assert.equal(proxyFor('https://127.0.0.1:6443', { HTTPS_PROXY: 'http://proxy:3128' }), undefined);
  assert.equal(proxyFor('https://localhost:6443', { HTTPS_PROXY: 'http://proxy:3128' }), undefined);
});

test('NO_PROXY matches domains, subdomains, CIDRs and ports', () => {
  const env = { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'example.com,10.0.0.0/8,other.net:6443' };
  assert.equal(proxyFor('https://api.example.com:6443', env), undefined);
  assert.equal(proxyFor('https://10.1.2.3:6443', env), undefined);
  assert.equal(proxyFor('https://api.other.net:6443', env), undefined);
  assert.equal(proxyFor('https://api.other.net:443', env), 'http://proxy:3128');
  assert.equal(proxyFor('https://192.0.2.1:6443', env), 'http://proxy:3128');
});
