/** Wiring of {@link proveAttestation} to the node's JSON-RPC and the chain. */
import type { Hex } from 'viem';
import type { Endpoints } from './config';
import { getOutput } from './node';
import type { ProofIO } from './verify';

export function proofIO(endpoints: Endpoints, application: string): ProofIO {
  return {
    getOutput: (index) => getOutput(endpoints.nodeRpcUrl, application, index),
    // viem is loaded only when a proof is checked.
    validateOutput: async (output: Hex, index: bigint, siblings: Hex[]) =>
      (await import('./chain')).validateOutputOnChain(endpoints.chainRpcUrl, application, output, index, siblings),
  };
}

/** The application address: from the endpoints, or from the inspect URL `<node>/inspect/<app>`. */
export function applicationOf(endpoints: Endpoints, inspectUrl: string): string {
  if (endpoints.application) return endpoints.application;
  const m = /\/inspect\/([^/]+)\/?$/.exec(inspectUrl);
  if (m?.[1]) return m[1];
  throw new Error('The application address is not known.');
}
