'use strict';
/**
 * dist/<name>/main.js of every production bundle (deploy/build/build.ts copies this file there):
 * runs bundle.js beside it, from V8's code cache bundle.cache when there is one. Compiling a
 * 4-7 MB bundle and the module code its start runs was about a quarter of a service's time to
 * /readyz; deserialized from the cache it is a few milliseconds.
 *
 *   node <flags> dist/<name>/main.js                      runs it
 *   node <flags> dist/<name>/main.js --write-code-cache   writes bundle.cache: the bundle runs with
 *       an empty environment, so a service stops at its configuration check (exit 2) after
 *       loading every module, and what V8 compiled until then is written; exit 0. Any other
 *       ending writes nothing, prints what the bundle printed, and fails.
 *
 * V8 takes a cache only from the same V8 build, the same V8 flags and the same source; another is
 * rejected (one line on stderr) and the bundle compiles as it would without one. So the cache is
 * written with the flags the process runs with, by the Node that runs it (an image writes its own).
 */
const { Buffer } = require('node:buffer');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { wrap } = require('node:module');

const bundle = path.join(__dirname, 'bundle.js');
const cacheFile = path.join(__dirname, 'bundle.cache');
const writing = process.argv[2] === '--write-code-cache';
const source = fs.readFileSync(bundle, 'utf8');
// The build ends bundle.js with its own SHA-256; bundle.cache starts with SHA-256(that, the rest).
// V8 checks neither the cache's integrity nor which source it was made from (only the length):
// a damaged or another build's cache would crash the process or run the wrong code.
const bundleId = /\/\/ testbed-bundle ([0-9a-f]{64})\s*$/.exec(source.slice(-200))?.[1] ?? 'none';
const digest = (payload) => crypto.createHash('sha256').update(bundleId).update(payload).digest();

let cachedData;
if (writing) {
  process.argv.splice(2, 1);
  for (const key of Object.keys(process.env)) if (key !== 'PATH') delete process.env[key];
} else {
  let file;
  try {
    file = fs.readFileSync(cacheFile);
  } catch {
    // No cache: compiled from source, as plain node would.
  }
  if (file && digest(file.subarray(32)).equals(file.subarray(0, 32))) cachedData = file.subarray(32);
  else if (file)
    process.stderr.write(
      `${cacheFile} does not match bundle.js (another build, or damaged): compiling the bundle\n`,
    );
}

// The bundle has no import(): esbuild turns each into require() (supported['dynamic-import']
// false), as Node 20 cannot run import() in a script compiled with cached data.
const script = new vm.Script(wrap(source), { filename: bundle, cachedData });
if (script.cachedDataRejected)
  process.stderr.write(`${cacheFile} was made by another Node or with other flags: compiling the bundle\n`);

if (writing) {
  const printed = [];
  for (const stream of [process.stdout, process.stderr])
    stream.write = (chunk) => printed.push(String(chunk)) > 0;
  process.once('exit', (code) => {
    if (code !== 2) {
      fs.writeSync(2, printed.join(''));
      fs.writeSync(
        2,
        `--write-code-cache: the bundle ended with ${code}, not at its configuration check (2)\n`,
      );
      process.exitCode = 1;
      return;
    }
    const partial = `${cacheFile}.${process.pid}`;
    const payload = script.createCachedData();
    fs.writeFileSync(partial, Buffer.concat([digest(payload), payload]));
    fs.renameSync(partial, cacheFile);
    process.exitCode = 0;
  });
}

// The bundle is this module: its require resolves from this folder, require.main is it.
script.runInThisContext()(module.exports, require, module, bundle, __dirname);
