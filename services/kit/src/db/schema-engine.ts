import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

/**
 * Prisma's schema engine (migrations, diff) compiled to WebAssembly. `prisma migrate` would need
 * the native engine, which the CLI downloads: impossible offline. The wasm build talks to the
 * database through a JS driver adapter instead, so it runs wherever the client runs.
 *
 * The package is ESM whose entry does `import * as wasm from "./schema_engine_bg.wasm"`, which
 * Node cannot import, and Jest (Node 20) cannot `require()` ESM from node_modules at all. Its glue
 * file `schema_engine_bg.js` is plain wasm-bindgen output whose only module syntax is `export` in
 * front of top-level declarations, so we evaluate it as a function body and collect those
 * declarations. Each engine gets its own glue state and wasm instance (a Rust panic poisons an
 * instance); only the compiled module is shared.
 */

type Glue = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

// Node 20's type definitions leave out the WebAssembly global (lib "dom" has it): the part used here.
interface WasmModule {
  readonly kind?: 'WebAssembly.Module';
}
declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(
    module: WasmModule,
    imports: Record<string, object>,
  ): Promise<{ exports: Record<string, unknown> }>;
};

interface EngineSources {
  glueSource: string;
  glueNames: string[];
  module: WasmModule;
}

let sources: Promise<EngineSources> | undefined;

function packageDir(): string {
  // The package's `exports` hides package.json; its main entry sits at the package root.
  return path.dirname(require.resolve('@prisma/schema-engine-wasm'));
}

async function loadSources(): Promise<EngineSources> {
  const dir = packageDir();
  const glueNames: string[] = [];
  const glueSource = readFileSync(path.join(dir, 'schema_engine_bg.js'), 'utf8').replace(
    /^export (function|class|const|let) ([A-Za-z0-9_$]+)/gm,
    (_match, kind: string, name: string) => {
      glueNames.push(name);
      return `${kind} ${name}`;
    },
  );
  if (/^\s*(export|import)[\s{*]/m.test(glueSource) || !glueNames.includes('__wbg_set_wasm')) {
    // A new wasm-bindgen output shape: fail loudly rather than run half a module.
    throw new Error(
      `unexpected module syntax in ${dir}/schema_engine_bg.js: check the pinned @prisma/schema-engine-wasm`,
    );
  }
  const module = await WebAssembly.compile(readFileSync(path.join(dir, 'schema_engine_bg.wasm')));
  return { glueSource, glueNames, module };
}

/**
 * The engine arms a 10 s timer around its advisory lock and never clears it: unref'd, such timers
 * no longer keep a finished CLI or test process alive for 10 s.
 */
function unrefSetTimeout(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return timer;
}

async function instantiateGlue(): Promise<Glue> {
  sources ??= loadSources().catch((err: unknown) => {
    sources = undefined;
    throw err;
  });
  const { glueSource, glueNames, module } = await sources;
  // Function() evaluates in the caller's realm (Jest's sandbox in tests), so the glue's
  // `instanceof Uint8Array` checks agree with the values the driver adapter hands it.
  const glue = new Function(
    'setTimeout',
    `"use strict";\n${glueSource}\nreturn { ${glueNames.join(', ')} };`,
  )(unrefSetTimeout) as Glue;
  const instance = await WebAssembly.instantiate(module, { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return glue;
}

export interface SchemaFile {
  path: string;
  content: string;
}

/**
 * Runs `work` with a schema engine connected through `factory`, and frees the engine after.
 * `datamodels` are the Prisma schema files the engine starts with (none needed to apply migrations).
 */
export async function withSchemaEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  datamodels: SchemaFile[] | undefined,
  work: (engine: SchemaEngine) => Promise<T>,
  onLog?: (line: string) => void,
): Promise<T> {
  const glue = await instantiateGlue();
  const engine = await glue.SchemaEngine.new(
    { datamodels: datamodels?.map((f): [string, string] => [f.path, f.content]) },
    (line: string) => onLog?.(line),
    // A bare factory fails inside the engine ("Cannot read properties of null"): the engine
    // expects the Result-returning, error-capturing wrapper.
    bindMigrationAwareSqlAdapterFactory(factory),
  );
  try {
    return await work(engine);
  } finally {
    engine.free();
  }
}

/** Entities the engine must leave alone (prisma.config.ts `tables.external`); none here. */
export const noFilters = { externalTables: [], externalEnums: [] };
