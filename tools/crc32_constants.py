"""Derive the PCLMULQDQ folding constants of src/ccxf_crc32.h (CRC-32, IEEE 802.3).

Polynomials are Python ints with bit j = coefficient of x^j. The CRC is reflected: in a
64-bit lane bit i holds the coefficient of x^(63-i), and a carry-less product of two such
lanes holds the coefficient of x^(126-k) at bit k, i.e. one factor x too many in a 128-bit
lane; every constant x^e mod P below therefore uses e - 1.
"""
P = 0x104C11DB7  # x^32 + x^26 + ... + 1, the normal (unreflected) form of 0xEDB88320


def pmod(a, p=P):
    dp = p.bit_length() - 1
    while a.bit_length() - 1 >= dp:
        a ^= p << (a.bit_length() - 1 - dp)
    return a


def pdiv(a, p=P):
    q, dp = 0, p.bit_length() - 1
    while a.bit_length() - 1 >= dp:
        s = a.bit_length() - 1 - dp
        q |= 1 << s
        a ^= p << s
    return q


def reflect(v, width):
    return int(f"{v:0{width}b}"[::-1], 2)


def xmod(e):
    """x^e mod P placed in a reflected 64-bit lane (bit 63 - j holds x^j)."""
    return reflect(pmod(1 << e), 64)


CONSTANTS = {
    # fold 128 bits forward by 512 (four lanes): low lane times x^(512+64), high by x^512
    "K_FOLD4_LO": xmod(512 + 64 - 1),
    "K_FOLD4_HI": xmod(512 - 1),
    # fold forward by 128 (one lane)
    "K_FOLD1_LO": xmod(128 + 64 - 1),
    "K_FOLD1_HI": xmod(128 - 1),
    # 128 -> 96 bits (the message's x^32 included) and 96 -> 64 bits
    "K_96": xmod(96 - 1),
    "K_64": xmod(64 - 1),
    # Barrett: mu = floor(x^64 / P) and P itself, both degree 32, reflected in 33 bits
    "K_MU": reflect(pdiv(1 << 64), 33),
    "K_P": reflect(P, 33),
}

if __name__ == "__main__":
    for name, value in CONSTANTS.items():
        print(f"#define CCXF_CRC_{name} 0x{value:016x}ULL")
