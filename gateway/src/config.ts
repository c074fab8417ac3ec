// @apollo/gateway reads one setting from process.env itself: unless APOLLO_TELEMETRY_DISABLED is true it
// exports usage metrics to Apollo and probes cloud metadata servers (AWS, GCP, Azure, Alibaba) on start.
// A self-hosted platform must not phone home, so it is off unless explicitly set to "false".
export function disableApolloGatewayTelemetry(): void {
  if (process.env.APOLLO_TELEMETRY_DISABLED !== 'false') process.env.APOLLO_TELEMETRY_DISABLED = 'true';
}
