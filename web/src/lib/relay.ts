/**
 * How an owner query reaches the rollup: through the gateway (`POST /v1/devices/{id}/history`),
 * or, when the gateway will not relay it (not the account that claimed the device, gateway
 * down), straight to the node's inspect endpoint. The answer is sealed to this browser either way.
 */
import { relayHistory } from './gateway';
import { HttpError } from './http';
import { inspect } from './node';
import type { Relay } from './history';

export function ownerRelay(deviceId: string, inspectUrl: () => Promise<string>): Relay {
  let direct = false;
  return async (query, offset, limit) => {
    if (!direct) {
      try {
        return await relayHistory(deviceId, query, offset, limit);
      } catch (e) {
        const status = e instanceof HttpError ? e.status : undefined;
        if (status !== undefined && ![401, 403, 404, 502, 503, 504].includes(status)) throw e;
        direct = true;
      }
    }
    const { report } = await inspect(await inspectUrl(), { type: 'history', owner_query: query, offset, limit });
    return report;
  };
}
