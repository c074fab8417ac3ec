// The platform's event topics. Payload schemas live in packages/contracts; who publishes and who consumes
// each topic is declared on the services (services.ts).
export const EVENT_TOPICS = [
  'identity.user-erased',
  'organization.membership-changed',
  'entitlement.usage-recorded',
  'entitlement.quota-threshold-reached',
  'entitlement.subscription-changed',
] as const;

export type EventTopic = (typeof EVENT_TOPICS)[number];
