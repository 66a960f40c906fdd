// Tests of indexes.js: value texts sort as native's encodings do
// (vm/src/store/index.rs), and stored JSON reads exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { exactJson, showValue, valueText, valuesOf } from "./indexes.js";

const int = { field: "n", key: 0, unique: false, each: false };
const bool = { field: "b", key: 2, unique: false, each: false };
const tags = { field: "tags", key: 3, unique: false, each: true };

test("Int texts sort as the numbers do, and show as them", () => {
  const numbers = [-(2n ** 63n), -2n, -1n, 0n, 1n, 255n, 2n ** 63n - 1n];
  const texts = numbers.map((n) => valueText(int, n));
  assert.deepEqual([...texts].sort(), texts);
  assert.deepEqual(texts.map((t) => showValue(int, t)), numbers.map(String));
  assert.deepEqual([false, true].map((b) => valueText(bool, b)), ["0", "1"]);
});

test("stored JSON keeps integers beyond 2^53 and strings as they are", () => {
  const json = '{"n":9007199254740993,"s":"12 \\"34\\"","f":1.5,"e":-2e3,"tags":["a","b","a"]}';
  assert.deepEqual(exactJson(json), { n: 9007199254740993n, s: '12 "34"', f: 1.5, e: -2000, tags: ["a", "b", "a"] });
  assert.deepEqual(valuesOf(int, json), [valueText(int, 9007199254740993n)]);
  assert.deepEqual(valuesOf(tags, json), ["a", "b"], "each element, once");
});
