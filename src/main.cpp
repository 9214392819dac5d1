// Wires the layers together; placeholder until the relays land.
#include <cstdio>

int main() { return 0; }
