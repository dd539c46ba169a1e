import { defineConformanceSuite } from './suite.ts';

// The same cases over a TLS listener: HTTP/1.1 (ALPN http/1.1) and HTTP/2 (ALPN h2).
defineConformanceSuite('node', 'https');
defineConformanceSuite('node', 'h2');
