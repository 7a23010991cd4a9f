// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fail2ban

import (
	"database/sql"
	"testing"
)

// f2bSchema is the schema fail2ban 0.11 to 1.1 creates (database version
// 4, fail2ban/server/database.py), so the tests read the real layout.
const f2bSchema = `
CREATE TABLE fail2banDb(version INTEGER);
INSERT INTO fail2banDb(version) VALUES(4);
CREATE TABLE jails(name TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1);
CREATE INDEX jails_name ON jails(name);
CREATE TABLE logs(jail TEXT NOT NULL, path TEXT, firstlinemd5 TEXT, lastfilepos INTEGER DEFAULT 0,
	FOREIGN KEY(jail) REFERENCES jails(name) ON DELETE CASCADE, UNIQUE(jail, path), UNIQUE(jail, path, firstlinemd5));
CREATE INDEX logs_path ON logs(path);
CREATE INDEX logs_jail_path ON logs(jail, path);
CREATE TABLE bans(jail TEXT NOT NULL, ip TEXT, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL,
	bancount INTEGER NOT NULL default 1, data JSON, FOREIGN KEY(jail) REFERENCES jails(name));
CREATE INDEX bans_jail_timeofban_ip ON bans(jail, timeofban);
CREATE INDEX bans_jail_ip ON bans(jail, ip);
CREATE INDEX bans_ip ON bans(ip);
CREATE TABLE bips(ip TEXT NOT NULL, jail TEXT NOT NULL, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL,
	bancount INTEGER NOT NULL default 1, data JSON, PRIMARY KEY(ip, jail), FOREIGN KEY(jail) REFERENCES jails(name));
CREATE INDEX bips_timeofban ON bips(timeofban);
CREATE INDEX bips_ip ON bips(ip);
`

// fakeF2B plays fail2ban's writer side on a database file, with the
// statements fail2ban runs, in journal_mode=MEMORY as fail2ban sets it.
type fakeF2B struct {
	t    *testing.T
	path string
	db   *sql.DB
}

func newFakeF2B(t *testing.T, path string) *fakeF2B {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(MEMORY)&_pragma=synchronous(OFF)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	f := &fakeF2B{t: t, path: path, db: db}
	f.exec(f2bSchema)
	return f
}

func (f *fakeF2B) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

// addJail is fail2ban starting a jail; stopJail its stopping it.
func (f *fakeF2B) addJail(name string) {
	f.exec(`INSERT OR IGNORE INTO jails(name, enabled) VALUES(?, 1)`, name)
	f.exec(`UPDATE jails SET enabled = 1 WHERE name = ?`, name)
}

func (f *fakeF2B) stopJail(name string) { f.exec(`UPDATE jails SET enabled=0 WHERE name=?`, name) }

// ban is Fail2BanDb.addBan.
func (f *fakeF2B) ban(jail, ip string, at, bantime int64) {
	f.exec(`INSERT INTO bans(jail, ip, timeofban, bantime, bancount, data) VALUES(?, ?, ?, ?, 1, '{}')`, jail, ip, at, bantime)
	f.exec(`INSERT OR REPLACE INTO bips(ip, jail, timeofban, bantime, bancount, data) VALUES(?, ?, ?, ?, 1, '{}')`, ip, jail, at, bantime)
}

// unban is Fail2BanDb.delBan (fail2ban-client set <jail> unbanip <ip>).
func (f *fakeF2B) unban(jail, ip string) {
	f.exec(`DELETE FROM bips WHERE jail = ? AND ip = ?`, jail, ip)
	f.exec(`DELETE FROM bans WHERE jail = ? AND ip = ?`, jail, ip)
}

// purge is Fail2BanDb.purge's bans part.
func (f *fakeF2B) purge(before int64) { f.exec(`DELETE FROM bans WHERE timeofban < ?`, before) }
