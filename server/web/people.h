/*
 * people: pages and JSON API for accounts after they are made (people.c):
 * staff manage an account, everyone their own, one-time codes set a
 * password, join codes make student accounts.
 */
#ifndef INTROEVAL_PEOPLE_H
#define INTROEVAL_PEOPLE_H

#include <jansson.h>

struct req;

int	people_user(struct req *);		/* GET  /users/:id */
int	people_user_update(struct req *);	/* POST /users/:id */
int	people_account(struct req *);		/* GET  /account */
/* The /account page with view's messages (stolen), as status. */
int	people_account_page(struct req *, int status, json_t *view);
int	people_account_password(struct req *);	/* POST /account/password */
int	people_account_signout_all(struct req *); /* POST /account/signout-all */
int	people_reset_form(struct req *);	/* GET  /reset */
int	people_reset(struct req *);		/* POST /reset */
int	people_signup_form(struct req *);	/* GET  /signup */
int	people_signup(struct req *);		/* POST /signup */
int	people_api_user_patch(struct req *);	/* PATCH /api/v1/users/:id */
int	people_api_user_reset(struct req *);	/* POST .../users/:id/reset */
int	people_api_me_password(struct req *);	/* POST /api/v1/me/password */
int	people_api_me_signout_all(struct req *); /* POST .../me/signout-all */
int	people_api_users(struct req *);		/* GET  /api/v1/users */
int	people_api_user_create(struct req *);	/* POST /api/v1/users */
int	people_api_user_get(struct req *);	/* GET  /api/v1/users/:id */

#endif
