from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin

# Google's client id and secret come from the environment only, and OAuth tokens are never
# stored: the back office offers neither.
admin.site.unregister(SocialApp)
admin.site.unregister(SocialToken)
