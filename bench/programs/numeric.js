// numeric: an integer loop (sum of i * i % 7 for i below 50,000,000; exact
// in doubles) and the Leibniz series for pi (10,000,000 terms); runs
// unchanged under Node and Deno.

let sum = 0;
for (let i = 0; i < 50000000; i++) {
  sum += (i * i) % 7;
}
let acc = 0.0;
let sign = 1.0;
for (let k = 0; k < 10000000; k++) {
  acc += sign / (2 * k + 1);
  sign = -sign;
}
console.log(`sum ${sum}`);
console.log(`pi ${4.0 * acc}`);
