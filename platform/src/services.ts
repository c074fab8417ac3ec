// The launcher's view of the service manifest: each subgraph's definition, loaded from the package its
// manifest entry names. Nothing here lists services: a new subgraph is its folder plus one manifest entry.
import type { ServiceDefinition } from '@g3d/kit';
import { type ServiceDeclaration, SUBGRAPHS } from '@g3d/manifest';

const loaded = new Map<string, Promise<ServiceDefinition>>();

/** The `service` a subgraph's package exports (packages/kit defineService). */
export function serviceDefinition(declaration: ServiceDeclaration): Promise<ServiceDefinition> {
  let definition = loaded.get(declaration.package);
  if (!definition) {
    definition = import(declaration.package).then((module: { service?: ServiceDefinition }) => {
      const service = module.service;
      if (typeof service?.build !== 'function' || typeof service.schema !== 'function') {
        throw new Error(`${declaration.package} does not export a service definition (defineService)`);
      }
      return service;
    });
    loaded.set(declaration.package, definition);
  }
  return definition;
}

/** Every subgraph with its definition, in manifest order. */
export async function subgraphDefinitions(): Promise<
  { declaration: ServiceDeclaration; definition: ServiceDefinition }[]
> {
  return Promise.all(
    SUBGRAPHS.map(async (declaration) => ({ declaration, definition: await serviceDefinition(declaration) })),
  );
}
