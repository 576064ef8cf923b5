# Independent reference generator for test/vectors/{cobs,crc32c,frame}.json (plain Python,
# bitwise CRC, textbook COBS) — not derived from src/framing.
import json, os, random, struct
HERE = os.path.dirname(os.path.abspath(__file__))
def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF
assert crc32c(b'123456789') == 0xE3069283
assert crc32c(bytes(32)) == 0x8A9136AA
assert crc32c(b'\xff' * 32) == 0x62A8AB43
assert crc32c(bytes(range(32))) == 0x46DD794E
assert crc32c(bytes(range(31, -1, -1))) == 0x113FDB5C
def cobs(data):
    # Wikipedia reference encoder: no trailing empty block after a full 254-byte block at the end
    out = bytearray([0]); ci = 0; code = 1
    for i, b in enumerate(data):
        if b == 0:
            out[ci] = code; ci = len(out); out.append(0); code = 1
        else:
            out.append(b); code += 1
            if code == 0xFF:
                out[ci] = code
                if i + 1 < len(data):
                    ci = len(out); out.append(0)
                code = 1; 
                if i + 1 == len(data): return bytes(out)
    out[ci] = code
    return bytes(out)
def uncobs(enc):
    out = bytearray(); i = 0
    while i < len(enc):
        code = enc[i]; i += 1
        assert code != 0 and i + code - 1 <= len(enc)
        out += enc[i:i + code - 1]; assert 0 not in enc[i:i + code - 1]; i += code - 1
        if code != 0xFF and i < len(enc): out.append(0)
    return bytes(out)
H = lambda b: b.hex()
# Wikipedia table
wiki = [
    ('00', '010100'), ('0000', '01010100'), ('001100', '0102110100'), ('11220033', '031122023300'),
    ('11223344', '051122334400'), ('11000000', '021101010100'),
    (H(bytes(range(1, 255))), 'ff' + H(bytes(range(1, 255))) + '00'),
    (H(bytes(range(0, 255))), '01ff' + H(bytes(range(1, 255))) + '00'),
    (H(bytes(range(1, 256))), 'ff' + H(bytes(range(1, 255))) + '02ff00'),
    (H(bytes(range(2, 256)) + b'\x00'), 'ff' + H(bytes(range(2, 256))) + '010100'),
    (H(bytes(range(3, 256)) + b'\x00\x01'), 'fe' + H(bytes(range(3, 256))) + '020100'),
]
names = ['00', '00 00', '00 11 00', '11 22 00 33', '11 22 33 44', '11 00 00 00', '01..FE (254 bytes)',
         '00..FE (255 bytes)', '01..FF (255 bytes)', '02..FF 00', '03..FF 00 01']
cases = []
for (i, e), n in zip(wiki, names):
    enc = cobs(bytes.fromhex(i))
    assert H(enc) + '00' == e, (n, H(enc), e)
    assert uncobs(enc) == bytes.fromhex(i)
    cases.append({'name': 'wikipedia: ' + n, 'input': i, 'hex': H(enc)})
rng = random.Random(20261121)
extra = [('empty', b''), ('one nonzero', b'\x01'), ('253 x 0x01', b'\x01' * 253), ('254 x 0x01', b'\x01' * 254),
         ('255 x 0x01', b'\x01' * 255), ('508 x 0xAA', b'\xaa' * 508), ('509 x 0xAA', b'\xaa' * 509),
         ('254 x 0x01 then 00', b'\x01' * 254 + b'\x00'), ('00 then 254 x 0x01', b'\x00' + b'\x01' * 254),
         ('300 zeros', bytes(300)),
         ('600 random, ~15% zeros', bytes(0 if rng.random() < 0.15 else rng.randrange(1, 256) for _ in range(600)))]
for n, d in extra:
    enc = cobs(d); assert uncobs(enc) == d
    cases.append({'name': n, 'input': H(d), 'hex': H(enc)})
invalid = [
    {'name': 'code 00 at the start', 'hex': '00', 'error': 200},
    {'name': 'zero byte inside a block', 'hex': '03110022', 'error': 200},
    {'name': 'block code runs past the end', 'hex': '051122', 'error': 200},
    {'name': 'second block runs past the end', 'hex': '021103aa', 'error': 200},
    {'name': 'full block cut short', 'hex': 'ff' + '01' * 200, 'error': 200},
    {'name': 'zero as a later code byte', 'hex': '021100', 'error': 200},
]
desc = 'COBS (Cheshire & Baker), no delimiter. cases: cobsEncode(input) == hex and cobsDecode(hex) == input. invalid: cobsDecode(hex) == -error.'
json.dump({'description': desc, 'cases': cases, 'invalid': invalid}, open(os.path.join(HERE, '..', 'cobs.json'), 'w'), indent=1)

crc_cases = [('empty', b''), ('"123456789" (check value)', b'123456789'), ('RFC 3720 B.4: 32 bytes of zeros', bytes(32)),
             ('RFC 3720 B.4: 32 bytes of 0xFF', b'\xff' * 32), ('RFC 3720 B.4: 32 incrementing bytes 00..1F', bytes(range(32))),
             ('RFC 3720 B.4: 32 decrementing bytes 1F..00', bytes(range(31, -1, -1))),
             ('RFC 3720 B.4: iSCSI SCSI Read (10) command PDU', bytes.fromhex('01c00000'+'00000000'*3+'14000000'+'00000400'+'00000014'+'00000018'+'28000000'+'00000000'+'02000000'+'00000000')),
             ('one byte 0x00', b'\x00'), ('15 bytes', bytes(range(1, 16))), ('16 bytes', bytes(range(1, 17))), ('17 bytes', bytes(range(1, 18))),
             ('4096 bytes i*7 mod 256', bytes((i * 7) & 0xff for i in range(4096)))]
out = []
for n, d in crc_cases:
    out.append({'name': n, 'input': H(d), 'hex': '%08x' % crc32c(d)})
assert out[6]['hex'] == 'd9963a56', out[6]
desc = 'CRC-32C (Castagnoli, reflected 0x82F63B78, init/xorout 0xFFFFFFFF). hex = the CRC value as 8 hex digits, most significant first (on the wire it is written little-endian, see frame.json).'
json.dump({'description': desc, 'cases': out, 'invalid': []}, open(os.path.join(HERE, '..', 'crc32c.json'), 'w'), indent=1)

def frame(d): return cobs(d + struct.pack('<I', crc32c(d))) + b'\x00'
fcases = [('one byte 01', b'\x01'), ('one byte 00', b'\x00'), ('11 22 00 33', bytes.fromhex('11220033')),
          ('20-byte header: REQUEST call 1 key 1122..88 len 4, payload deadbeef', bytes.fromhex('ce120000010000001122334455667788' + '04000000' + 'deadbeef')),
          ('250 x 0x01 (frame fills exactly one 254-byte block)', b'\x01' * 250), ('251 x 0x01', b'\x01' * 251),
          ('254 x 0x01', b'\x01' * 254), ('300 zeros', bytes(300))]
# an input whose CRC has a zero byte (the CRC bytes are COBS-encoded too)
for k in range(100000):
    d = b'cell' + struct.pack('<I', k)
    c = struct.pack('<I', crc32c(d))
    if c[1] == 0: fcases.append(('CRC with a zero byte', d)); break
for k in range(100000):
    d = bytes([0x41]) * 250 + struct.pack('<I', k)[:2]
    c = struct.pack('<I', crc32c(d))
    if 0 not in c and 0 not in d: fcases.append(('252 nonzero bytes + nonzero CRC: ends on a full block', d)); break
fout = []
for n, d in fcases:
    f = frame(d)
    assert uncobs(f[:-1])[:-4] == d
    fout.append({'name': n, 'input': H(d), 'hex': H(f)})
good = frame(b'hello')
badcrc = bytearray(good); badcrc[2] ^= 0x01
finv = [
    {'name': 'bad CRC (one data bit flipped)', 'hex': H(bytes(badcrc)), 'error': 201},
    {'name': 'bad CRC (CRC byte changed)', 'hex': H(cobs(b'hello' + struct.pack('<I', crc32c(b'hello') ^ 0x100)) + b'\x00'), 'error': 201},
    {'name': 'too short: 1 decoded byte', 'hex': '021100', 'error': 203},
    {'name': 'too short: CRC of nothing, no payload', 'hex': H(frame(b'')), 'error': 203},
    {'name': 'too short: 4 decoded bytes', 'hex': '051122334400', 'error': 203},
    {'name': 'COBS block runs into the delimiter', 'hex': '0a11223300', 'error': 200},
]
desc = 'Frames: COBS(input ++ CRC-32C(input) as 4 bytes LE) ++ 00. cases: frameEncode(input) == hex; frameDecode/Deframer(hex) == input. invalid: frameDecode(hex) == -error and a Deframer counts that error.'
json.dump({'description': desc, 'cases': fout, 'invalid': finv}, open(os.path.join(HERE, '..', 'frame.json'), 'w'), indent=1)
print('ok', len(cases), len(out), len(fout))
