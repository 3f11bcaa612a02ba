// The `yaml` package, loaded on first use (so commands that never read YAML never pay for it).
// Always go through importYaml() rather than `await import('yaml')`: in the CLI's esbuild bundle,
// `yaml` resolves to its CommonJS build, and esbuild gives a dynamic import of a CommonJS module
// only a `default` export — `const { parse } = await import('yaml')` is then undefined there,
// while it works under plain tsc output. importYaml() accepts both shapes.
export type YamlModule = typeof import('yaml');

let cached: YamlModule | undefined;

export async function importYaml(): Promise<YamlModule> {
  if (cached) return cached;
  const m = (await import('yaml')) as YamlModule & { default?: YamlModule };
  const mod = typeof m.parse === 'function' ? m : m.default;
  if (!mod || typeof mod.parse !== 'function') throw new Error('the yaml module has no parse() (unexpected module shape)');
  cached = mod;
  return mod;
}
