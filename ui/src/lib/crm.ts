/**
 * How the customer's owner and department read on the ring and call screens: 「担当: 田中 太郎 / 部署: 営業一課」
 * or "Owner: … / Department: …", with whichever of the two the server knows (contract §8).
 */
import type { Crm } from './core-client';

export function ownerLine(crm: Crm | undefined, labels: { owner: string; department: string }): string {
  if (!crm) return '';
  const parts = [
    crm.ownerName ? `${labels.owner}: ${crm.ownerName}` : '',
    crm.departmentName ? `${labels.department}: ${crm.departmentName}` : '',
  ];
  return parts.filter(Boolean).join(' / ');
}

/** Characters as the server counts them (Unicode scalar values), so the counter and the server agree. */
export const charCount = (text: string) => [...text].length;
