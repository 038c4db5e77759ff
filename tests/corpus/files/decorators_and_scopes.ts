import { Injectable } from '@angular/core';
import type { Node } from '@types/node';
import lodash from 'lodash@4.17.21';

@Injectable({ providedIn: 'root' })
export class TokenService {
  private readonly tokenKey = 'auth_token';
  private readonly maxTokens = 4096;
  constructor(private http: HttpClient) {}

  @HostListener('window:keydown', ['$event'])
  onKey(e: KeyboardEvent) { this.keyDown = e.key; }

  getToken(): string | null { return localStorage.getItem(this.tokenKey); }
  setPassword(password: string) { this.password = password; }
}
// see https://github.com/org/repo/issues/1234 and git@github.com:org/repo.git
// contact: team@example.com, docs at https://docs.example.org/#/setup
