import { assert, assertEquals } from "./_assert.ts";
import { formatBar, formatDuration, ProgressBar } from "../cli/progress_bar.ts";

Deno.test("formatDuration() writes m:ss, h:mm:ss from an hour, and -:-- for no estimate", () => {
  assertEquals(formatDuration(0), "0:00");
  assertEquals(formatDuration(9.4), "0:09");
  assertEquals(formatDuration(75), "1:15");
  assertEquals(formatDuration(3725), "1:02:05");
  assertEquals(formatDuration(NaN), "-:--");
  assertEquals(formatDuration(Infinity), "-:--");
});

Deno.test("formatBar() shows done/total, the rate and the time left, then the time taken", () => {
  assertEquals(
    formatBar(6, 24, 3000, { label: "embedding", width: 8 }),
    "embedding [██░░░░░░] 6/24  2.0 photos/s  0:09 left",
  );
  assertEquals(formatBar(0, 10, 0, { width: 4 }), "[░░░░] 0/10  - photos/s  -:-- left");
  assertEquals(
    formatBar(40, 40, 2000, { width: 4, unit: "views" }),
    "[████] 40/40  20 views/s  done in 0:02",
  );
  // Out-of-range counts are clamped; an empty job is complete.
  assertEquals(formatBar(50, 40, 2000, { width: 4 }), "[████] 40/40  20 photos/s  done in 0:02");
  assertEquals(formatBar(0, 0, 0, { width: 4 }), "[████] 0/0  - photos/s  done in 0:00");
});

Deno.test("formatBar() shrinks the bar to fit the terminal, down to 5 cells", () => {
  const wide = formatBar(3, 10, 1000, { label: "train", width: 40 });
  const narrow = formatBar(3, 10, 1000, { label: "train", width: 40, columns: 50 });
  assert(wide.length >= 50, wide);
  assert(narrow.length < 50, narrow);
  assert(narrow.startsWith("train [█") && narrow.endsWith("3/10  3.0 photos/s  0:02 left"), narrow);
  const tiny = formatBar(3, 10, 1000, { label: "train", columns: 10 });
  assertEquals(tiny.slice(0, 13), "train [█░░░░]");
});

Deno.test("ProgressBar redraws in place with \\r, throttled, and ends on total/total", () => {
  let clock = 0;
  const writes: string[] = [];
  const bar = new ProgressBar({
    write: (t) => writes.push(t),
    width: 4,
    now: () => clock,
    minIntervalMs: 100,
  });
  bar.update(0, 4); // first draw: always
  clock = 50;
  bar.update(1, 4); // too soon: skipped
  clock = 150;
  bar.update(2, 4); // drawn
  clock = 160;
  bar.update(4, 4); // complete: always drawn
  bar.finish();
  bar.update(1, 4); // after finish: ignored
  assertEquals(writes.length, 4);
  assert(writes.slice(0, 3).every((w) => w.startsWith("\r")), JSON.stringify(writes));
  assert(writes[1]!.includes("2/4"), writes[1]);
  // The final state is already drawn: finish() only ends the line.
  assertEquals(writes.slice(2), ["\r[████] 4/4  25 photos/s  done in 0:00", "\n"]);
  assertEquals([bar.done, bar.total], [4, 4]);
});

Deno.test("ProgressBar.above() clears the bar, prints full lines, then redraws the bar below them", () => {
  let screen = "";
  const bar = new ProgressBar({ write: (t) => (screen += t), width: 4, now: () => 0 });
  bar.above(() => (screen += "before any bar\n")); // nothing drawn yet: just prints
  bar.update(1, 2);
  bar.above(() => (screen += "Epoch 1/1.. Train loss: 0.500..\n"));
  bar.update(2, 2);
  bar.finish();
  // What a terminal shows: apply each \r as "back to the start of the line".
  const lines = screen.split("\n").map((l) => {
    let shown = "";
    for (const part of l.split("\r")) shown = part + shown.slice(part.length);
    return shown.trimEnd();
  });
  assertEquals(lines, [
    "before any bar",
    "Epoch 1/1.. Train loss: 0.500..",
    "[████] 2/2  - photos/s  done in 0:00",
    "",
  ]);
});

Deno.test("ProgressBar.finish() without any update prints nothing", () => {
  let out = "";
  const bar = new ProgressBar({ write: (t) => (out += t) });
  bar.finish();
  assertEquals(out, "");
});
