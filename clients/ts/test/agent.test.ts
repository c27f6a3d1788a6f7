import assert from "node:assert/strict";
import { test } from "node:test";

import { promptOf } from "../src/index.ts";

test("promptOf reads a text prompt and AI-SDK messages", () => {
  assert.equal(promptOf('{"prompt": "hello"}'), "hello");
  assert.equal(promptOf('{"prompt": ""}'), "");
  const messages = [
    { role: "system", content: "be brief" },
    { role: "user", content: "hi" },
    { role: "user", content: [{ type: "text", text: "there" }, 7, { type: "image" }] },
    "junk",
  ];
  assert.equal(promptOf(JSON.stringify({ prompt: messages })), "hi\nthere");
  assert.equal(promptOf('{"prompt": [{"role": "assistant", "content": "no"}]}'), undefined);
  assert.equal(promptOf('{"text": "no prompt"}'), undefined);
  assert.equal(promptOf("not json"), undefined);
  assert.equal(promptOf("null"), undefined);
});
