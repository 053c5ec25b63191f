#!/usr/bin/env node
// `nodepool-rotation` bin: runs the compiled CLI, or registers ts-node (transpile-only) and runs the TypeScript CLI.
"use strict";
const path = require("path");
// Installed as a package, the CLI is compiled next to this file (dist/); in a checkout, run the source.
const compiled = require("fs").existsSync(path.join(__dirname, "cli.js"));
if (!compiled) require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "..", "tsconfig.json") });
const { main } = require(compiled ? "./cli.js" : "./cli.ts");
// Exit explicitly once the work is done: a watch request the server never answered holds an
// open socket that client-node cannot abort, and must not keep the process alive. Exit only
// after stdout/stderr flushed (pipes are asynchronous on macOS), so nothing printed is lost.
main(process.argv.slice(2)).then((code) => process.stdout.write("", () => process.stderr.write("", () => process.exit(code))));
