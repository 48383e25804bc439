import { describe, expect, it } from 'vitest';
import { KeyframeRequester, type KeyframeRequesterOptions } from '../src/jitter/keyframe-requester.js';

function harness(options: Omit<KeyframeRequesterOptions, 'request'> = {}) {
  const requestsAt: number[] = [];
  let nowMs = 0;
  const kr = new KeyframeRequester({ ...options, request: () => requestsAt.push(nowMs) });
  return {
    kr,
    requestsAt,
    at(t: number): KeyframeRequester {
      nowMs = t;
      return kr;
    },
    /** Polls exactly at each deadline up to `untilMs`, as a caller's timer would. */
    runUntil(untilMs: number): void {
      for (let d = kr.nextDeadlineMs(); d !== undefined && d <= untilMs; d = kr.nextDeadlineMs()) {
        nowMs = d;
        kr.poll(d);
      }
      nowMs = untilMs;
    },
  };
}

describe('KeyframeRequester', () => {
  it('requests at once when a keyframe is needed, then waits for it', () => {
    const h = harness({ minIntervalMs: 200, retryIntervalMs: 1000 });
    expect(h.kr.nextDeadlineMs()).toBeUndefined();
    h.at(50).needKeyframe(50);
    expect(h.requestsAt).toEqual([50]);
    expect(h.kr.isWaiting).toBe(true);
    expect(h.kr.nextDeadlineMs()).toBe(1050);
  });

  it('does not repeat the request for further needs while waiting', () => {
    const h = harness({ minIntervalMs: 200, retryIntervalMs: 1000 });
    for (let t = 0; t < 900; t += 10) h.at(t).needKeyframe(t);
    h.runUntil(900);
    expect(h.requestsAt).toEqual([0]);
  });

  it('retries every retryIntervalMs while no keyframe comes, and stops once one does', () => {
    const h = harness({ minIntervalMs: 200, retryIntervalMs: 1000 });
    h.at(0).needKeyframe(0);
    h.at(999).poll(999);
    expect(h.requestsAt).toEqual([0]);
    h.runUntil(3500);
    expect(h.requestsAt).toEqual([0, 1000, 2000, 3000]);
    h.at(3600).keyframeReceived(3600);
    expect(h.kr.isWaiting).toBe(false);
    expect(h.kr.nextDeadlineMs()).toBeUndefined();
    h.runUntil(10_000);
    h.at(10_000).poll(10_000);
    expect(h.requestsAt).toEqual([0, 1000, 2000, 3000]);
    expect(h.kr.stats).toEqual({ requests: 4, keyframes: 1, lastResponseMs: 3600 });
  });

  it('throttles: a new need soon after a request waits until minIntervalMs has passed', () => {
    const h = harness({ minIntervalMs: 200, retryIntervalMs: 1000 });
    h.at(0).needKeyframe(0);
    h.at(80).keyframeReceived(80);
    h.at(120).needKeyframe(120); // another loss right after the keyframe
    expect(h.requestsAt).toEqual([0]);
    expect(h.kr.nextDeadlineMs()).toBe(200);
    h.at(199).poll(199);
    expect(h.requestsAt).toEqual([0]);
    h.at(200).poll(200);
    expect(h.requestsAt).toEqual([0, 200]);
    // A need long after the last request goes out at once.
    h.at(300).keyframeReceived(300);
    h.at(5000).needKeyframe(5000);
    expect(h.requestsAt).toEqual([0, 200, 5000]);
  });

  it('raises the minimum interval to the RTT set with setRttMs()', () => {
    const h = harness({ minIntervalMs: 200, retryIntervalMs: 1000 });
    h.kr.setRttMs(450);
    h.at(0).needKeyframe(0);
    h.at(100).keyframeReceived(100);
    h.at(150).needKeyframe(150);
    expect(h.kr.nextDeadlineMs()).toBe(450);
    // A retry is never sooner than the RTT either.
    h.kr.setRttMs(1500);
    h.runUntil(5000);
    expect(h.requestsAt).toEqual([0, 1500, 3000, 4500]);
    // Nonsense is ignored.
    h.kr.setRttMs(Number.NaN);
    h.kr.setRttMs(-1);
    expect(h.kr.nextDeadlineMs()).toBe(6000);
  });

  it('sends nothing when poll() is called with nothing to do', () => {
    const h = harness();
    for (let t = 0; t < 5000; t += 100) h.at(t).poll(t);
    expect(h.requestsAt).toEqual([]);
    expect(h.kr.stats.requests).toBe(0);
  });
});
