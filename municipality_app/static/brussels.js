// Europe/Brussels wall-clock time, whatever the computer's own time zone: the API reads a
// campaign time without an offset as Brussels time, and the audit log's days are Brussels days.

const ZONE = "Europe/Brussels";
const wallClock = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

function parts(date) {
  return Object.fromEntries(wallClock.formatToParts(date).map((part) => [part.type, part.value]));
}

// "2026-03-28T14:30" (what <input type="datetime-local"> holds) for an instant.
export function brusselsInputValue(instant) {
  const p = parts(new Date(instant));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

// The ISO weekday (1 = Monday) in Brussels of a datetime-local value read as Brussels time.
export function weekdayOf(inputValue) {
  const [day] = inputValue.split("T");
  const weekday = new Date(`${day}T12:00:00Z`).getUTCDay();
  return weekday === 0 ? 7 : weekday;
}

// The instant a Brussels calendar day ("2026-03-29") starts, as ISO 8601 with an offset.
export function brusselsDayStart(day) {
  const [y, m, d] = day.split("-").map(Number);
  const guess = Date.UTC(y, m - 1, d);
  const p = parts(new Date(guess));
  const offset = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - guess;
  return new Date(guess - offset).toISOString();
}

export function nextDay(day) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}
