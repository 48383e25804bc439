/**
 * The cryptographic transforms of SRTP's AES_CM_128_HMAC_SHA1 suites (RFC 3711): session keys
 * derived from the master key and salt, AES-128 counter-mode keystream, HMAC-SHA1 tags. Only
 * node:crypto (OpenSSL) does the work; this file arranges the inputs.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';

/** The suites mediasoup's PlainTransport offers in 3.8.4 and still offers in 3.27 (which adds AEAD_AES_*_GCM). */
export type SrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

/** An SRTP suite and its keying material, as mediasoup writes it (`transport.srtpParameters`). */
export interface SrtpParameters {
  cryptoSuite: SrtpCryptoSuite;
  /** Master key (16 bytes) then master salt (14 bytes), in base64. */
  keyBase64: string;
}

const MASTER_KEY_BYTES = 16;
const MASTER_SALT_BYTES = 14;
/** Authentication tag bytes of SRTP for each suite; SRTCP always uses 80 bits (RFC 4568 6.2.1, as libsrtp in mediasoup). */
const RTP_TAG_BYTES: Record<SrtpCryptoSuite, number> = { AES_CM_128_HMAC_SHA1_80: 10, AES_CM_128_HMAC_SHA1_32: 4 };
export const RTCP_TAG_BYTES = 10;

/** One direction and one kind (SRTP or SRTCP) of a session: its encryption key, salt and auth key. */
export class SrtpTransform {
  private readonly iv = Buffer.alloc(16);

  private constructor(
    private readonly key: Buffer,
    private readonly salt: Buffer,
    private readonly authKey: Buffer,
    /** Bytes of the authentication tag this transform writes and checks. */
    readonly tagBytes: number,
  ) {}

  /** The SRTP (`rtcp` false) or SRTCP transform of these parameters; throws on a key of the wrong length or an unknown suite. */
  static derive(parameters: SrtpParameters, rtcp: boolean): SrtpTransform {
    const tagBytes = RTP_TAG_BYTES[parameters.cryptoSuite];
    if (tagBytes === undefined) throw new Error(`unsupported SRTP crypto suite ${String(parameters.cryptoSuite)} (supported: ${Object.keys(RTP_TAG_BYTES).join(', ')})`);
    const master = Buffer.from(parameters.keyBase64, 'base64');
    if (master.length !== MASTER_KEY_BYTES + MASTER_SALT_BYTES) {
      throw new Error(`SRTP key of ${parameters.cryptoSuite} must be ${MASTER_KEY_BYTES + MASTER_SALT_BYTES} bytes, got ${master.length}`);
    }
    const masterKey = master.subarray(0, MASTER_KEY_BYTES);
    const masterSalt = master.subarray(MASTER_KEY_BYTES);
    const label = rtcp ? 3 : 0;
    return new SrtpTransform(
      deriveKey(masterKey, masterSalt, label, 16),
      deriveKey(masterKey, masterSalt, label + 2, 14),
      deriveKey(masterKey, masterSalt, label + 1, 20),
      rtcp ? RTCP_TAG_BYTES : tagBytes,
    );
  }

  /** XORs `data` with the keystream of packet `index` (48-bit) of `ssrc`: encrypts and decrypts alike. */
  crypt(data: Buffer, ssrc: number, index: number, decrypt: boolean): Buffer {
    const iv = this.iv; // reused: createCipheriv copies it, and nothing runs in between
    this.salt.copy(iv);
    iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    iv.writeUInt16BE(iv.readUInt16BE(8) ^ Math.floor(index / 2 ** 32), 8);
    iv.writeUInt32BE((iv.readUInt32BE(10) ^ index % 2 ** 32) >>> 0, 10);
    const cipher = decrypt ? createDecipheriv('aes-128-ctr', this.key, iv) : createCipheriv('aes-128-ctr', this.key, iv);
    return cipher.update(data);
  }

  /** The truncated HMAC-SHA1 of `parts`. */
  tag(...parts: Buffer[]): Buffer {
    const hmac = createHmac('sha1', this.authKey);
    for (const part of parts) hmac.update(part);
    return hmac.digest().subarray(0, this.tagBytes);
  }

  /** Whether `tag` is the tag of `parts` (constant time). */
  verify(tag: Buffer, ...parts: Buffer[]): boolean {
    return tag.length === this.tagBytes && timingSafeEqual(tag, this.tag(...parts));
  }
}

/** RFC 3711 4.3: key derivation with the AES-CM PRF, key derivation rate 0 (index 0). */
function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, bytes: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv);
  iv[7] = iv[7]! ^ label;
  return createCipheriv('aes-128-ctr', masterKey, iv).update(Buffer.alloc(bytes));
}
