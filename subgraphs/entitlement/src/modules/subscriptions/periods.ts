// Usage periods are monthly slices from the subscription's anchor (its start), like Stripe's billing anchor:
// an anchor on the 31st renews on the last day of shorter months. Yearly billing renews every 12 slices; quotas
// still count per month.

/** `anchor` plus `months` calendar months (UTC), the day clamped to the month's length. */
export function addMonths(anchor: Date, months: number): Date {
  const year = anchor.getUTCFullYear();
  const month = anchor.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      month,
      Math.min(anchor.getUTCDate(), lastDay),
      anchor.getUTCHours(),
      anchor.getUTCMinutes(),
      anchor.getUTCSeconds(),
      anchor.getUTCMilliseconds(),
    ),
  );
}

/** The monthly slice of `anchor` that contains `at` (at ≥ anchor). */
export function periodContaining(anchor: Date, at: Date): { start: Date; end: Date; index: number } {
  const t = at.getTime();
  let index = Math.max(
    0,
    (at.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + (at.getUTCMonth() - anchor.getUTCMonth()) - 1,
  );
  while (addMonths(anchor, index + 1).getTime() <= t) index += 1;
  while (index > 0 && addMonths(anchor, index).getTime() > t) index -= 1;
  return { start: addMonths(anchor, index), end: addMonths(anchor, index + 1), index };
}

/** When the subscription next renews (bills): the period end, or the next anniversary for yearly billing. */
export function renewsAt(anchor: Date, periodIndex: number, cycle: string): Date {
  if (cycle !== 'yearly') return addMonths(anchor, periodIndex + 1);
  return addMonths(anchor, (Math.floor(periodIndex / 12) + 1) * 12);
}

export const DAY_MS = 86_400_000;
