#!/usr/bin/env node
// `nodepool-rotation` bin: registers ts-node (transpile-only) and runs the TypeScript CLI.
"use strict";
const path = require("path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "..", "tsconfig.json") });
const { main } = require("./cli.ts");
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
