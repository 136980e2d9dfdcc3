import { useState } from 'preact/hooks';
import { problemOf, type ApiProblem } from '../api/client';
import { suggestAddresses } from '../api/endpoints';

/**
 * ipam's suggestion of the lowest free block of addresses in a pool (`GET /v1/pools/{pool}/next-free`),
 * and the problem when it has none; nothing is held until the form is submitted.
 */
export function useAddressSuggestion() {
  const [block, setBlock] = useState<string[] | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const suggest = async (pool: string, count: number): Promise<string[] | null> => {
    setProblem(null);
    try {
      const next = await suggestAddresses(pool, count);
      setBlock(next);
      return next;
    } catch (err) {
      setBlock(null);
      setProblem(problemOf(err));
      return null;
    }
  };
  return { block, problem, suggest };
}
