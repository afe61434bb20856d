import { describe, expect, it } from 'vitest';
import { charCount, ownerLine } from './crm';

describe('ownerLine', () => {
  const ja = { owner: '担当', department: '部署' };
  it('names the owner and the department', () => {
    expect(ownerLine({ ownerName: '田中 太郎', departmentName: '営業一課' }, ja)).toBe('担当: 田中 太郎 / 部署: 営業一課');
  });
  it('leaves out what is unknown', () => {
    expect(ownerLine({ departmentName: 'Sales 1' }, { owner: 'Owner', department: 'Department' })).toBe('Department: Sales 1');
    expect(ownerLine({ customerName: '山田' }, ja)).toBe('');
    expect(ownerLine(undefined, ja)).toBe('');
  });
});

describe('charCount', () => {
  it('counts Unicode scalar values like the server', () => {
    expect(charCount('メモ')).toBe(2);
    expect(charCount('😀a')).toBe(2);
  });
});
