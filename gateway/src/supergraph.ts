// Reads the subgraph names and URLs out of a supergraph SDL (the join__Graph enum).
import { Supergraph } from '@apollo/federation-internals';

export interface SubgraphEndpoint {
  name: string;
  url: string;
}

export function subgraphEndpoints(supergraphSdl: string, overrides: Record<string, string>): SubgraphEndpoint[] {
  const supergraph = Supergraph.build(supergraphSdl);
  return supergraph
    .subgraphs()
    .names()
    .map((name) => ({ name, url: overrides[name] ?? supergraph.subgraphs().get(name)?.url ?? '' }));
}
