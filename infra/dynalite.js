#!/usr/bin/env node
// dynalite (infra/node_modules, `make tools`) as a node of the local cluster, taking
// dynalite's own arguments, with connections kept open while idle for a minute, as the
// AWS SDKs keep a pooled connection (the Java SDK's connectionMaxIdleTime, 60 s). Node's
// HTTP server closes a connection idle for 5 s: the functions' connections to a node
// then lapse between the polls of a quiet page, each new one costs three round trips at
// the twin's distances, and an unchanged grid poll took 985 ms instead of one round trip
// (make bench-ui-twin).
const http = require("http");

const IDLE_MS = 60_000;

const createServer = http.createServer;
http.createServer = function (...args) {
  const server = createServer.apply(this, args);
  server.keepAliveTimeout = IDLE_MS;
  // Past the idle time, so that an idle connection is closed by the idle timer alone.
  server.headersTimeout = IDLE_MS + 1_000;
  return server;
};

require("./node_modules/dynalite/cli.js");
