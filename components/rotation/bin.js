#!/usr/bin/env node
// `nodepool-rotation` bin: registers ts-node (transpile-only) and runs the TypeScript CLI.
"use strict";
const path = require("path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "..", "tsconfig.json") });
const { main } = require("./cli.ts");
// Exit explicitly once the work is done: a watch request the server never answered holds an
// open socket that client-node cannot abort, and must not keep the process alive. Exit only
// after stdout/stderr flushed (pipes are asynchronous on macOS), so nothing printed is lost.
main(process.argv.slice(2)).then((code) => process.stdout.write("", () => process.stderr.write("", () => process.exit(code))));
