// numeric: an integer loop (sum of i * i % 7 for i below 50,000,000) and the
// Leibniz series for pi (10,000,000 terms), printed in the shortest form that
// reads back to the same double (as Distlang and JavaScript print floats).
#include <stdio.h>
#include <stdlib.h>

static void print_shortest(const char *label, double x) {
    char buf[32];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, x);
        if (strtod(buf, NULL) == x) break;
    }
    printf("%s %s\n", label, buf);
}

int main(void) {
    long sum = 0;
    for (long i = 0; i < 50000000; i++) sum += i * i % 7;
    double acc = 0.0, sign = 1.0;
    for (long k = 0; k < 10000000; k++) {
        acc += sign / (double)(2 * k + 1);
        sign = -sign;
    }
    printf("sum %ld\n", sum);
    print_shortest("pi", 4.0 * acc);
    return 0;
}
