// alloc: build a 200,000-word string with +, split it, count the words in a
// Map, and print the sorted keys' ends; runs unchanged under Node and Deno.

const n = 200000;
let text = "";
for (let i = 0; i < n; i++) {
  const word = `w${(i * 7919) % 5000}`;
  text = i === 0 ? word : text + " " + word;
}
const words = text.split(" ");
const counts = new Map();
for (const w of words) {
  counts.set(w, (counts.get(w) ?? 0) + 1);
}
const keys = [...counts.keys()].sort();
const first = keys[0];
const last = keys[keys.length - 1];
console.log(`words ${words.length}`);
console.log(`distinct ${keys.length}`);
console.log(`first ${first} ${counts.get(first)}`);
console.log(`last ${last} ${counts.get(last)}`);
