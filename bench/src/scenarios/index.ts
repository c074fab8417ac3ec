// Every scenario, in run order. To add one: write src/scenarios/<name>.ts exporting a Scenario (see
// ../scenario.ts; HTTP load via ./http.ts measureHttp, anything else returns a Measurement itself) and list
// it here. `relativeTo` names the scenario it is compared with.
import type { Scenario } from '../scenario.ts';
import { aiInvocation, upstreamDirect } from './ai.ts';
import { baseline, baselineAgain } from './baseline.ts';
import { authorize, storeIncr } from './entitlement.ts';
import { directSubgraph, gatewayFederated, gatewayFederatedBare, gatewayMe, gatewayMeBare } from './graphql.ts';
import { argon2Raw, loginDirect, loginGateway } from './login.ts';

export const SCENARIOS: Scenario[] = [
  baseline,
  directSubgraph,
  gatewayMeBare,
  gatewayMe,
  gatewayFederatedBare,
  gatewayFederated,
  argon2Raw,
  loginDirect,
  loginGateway,
  storeIncr,
  authorize,
  upstreamDirect,
  aiInvocation,
  baselineAgain,
];
